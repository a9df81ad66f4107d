"""Image benchmark: decode + encode throughput, and peak memory for a 3000 x 3000 DICOM.

Run with `make bench`. Every figure is measured in this run on this machine with the
committed default encoder (or RADRAG_IMAGE_ENCODER); the single from-scratch ResNet
(`models/nih-chest-tiny`, the previous default) is the baseline measured beside it.
"""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from rag.adapters.image_encoders import CalibratedImageEncoder, load_image_encoder
from rag.adapters.image_io import decode_image
from rag.config import DEFAULT_IMAGE_ENCODER, get_settings

N_IMAGES = 64
BASELINE = str(Path(DEFAULT_IMAGE_ENCODER).parent / "nih-chest-tiny")
PNG_SIDE = 1024
DICOM_SIDE = 3000


def synthetic_png(rng: np.random.Generator) -> bytes:
    """A 1024 px 8-bit PNG with smooth structure (compresses like a radiograph, roughly)."""
    small = rng.integers(0, 255, (32, 32), dtype=np.uint8)
    im = Image.fromarray(small).resize((PNG_SIDE, PNG_SIDE), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def synthetic_dicom(side: int) -> bytes:
    """A side x side 16-bit MONOCHROME2 DX DICOM with a VOI window."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.ViewPosition = "DX", "PA"
    ds.Rows = ds.Columns = side
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    ramp = np.linspace(0, 4095, side, dtype=np.float32)
    ds.PixelData = (np.add.outer(ramp, ramp) / 2).astype(np.uint16).tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def throughput(encoder: CalibratedImageEncoder, pngs: list[bytes], threads: int) -> float:
    """Images per second, one request at a time (decode then encode), at a torch thread count."""
    torch.set_num_threads(threads)
    encoder.encode(decode_image(pngs[0]))  # warm-up
    start = time.perf_counter()
    for data in pngs:
        encoder.encode(decode_image(data))
    return N_IMAGES / (time.perf_counter() - start)


# Linux: writing 5 to clear_refs resets the peak-RSS mark (VmHWM), so the imports' own
# peak does not hide the decode's.
CHILD = """
import sys
from rag.adapters.image_io import decode_image
import rag.adapters.dicom_io
def kb(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1])
data = open(sys.argv[1], "rb").read()
open("/proc/self/clear_refs", "w").write("5")
before = kb("VmRSS:")
decode_image(data)
print(before, kb("VmHWM:"))
"""


def fresh_process_rss(dicom: bytes) -> tuple[float, float]:
    """(RSS before, peak RSS during) decoding the DICOM in a fresh interpreter, in MB."""
    with tempfile.NamedTemporaryFile(suffix=".dcm") as fh:
        fh.write(dicom)
        fh.flush()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, fh.name], capture_output=True, text=True, check=True
        ).stdout.split()
    return int(out[0]) / 1024, int(out[1]) / 1024


def main() -> None:
    """Print the figures as JSON."""
    encoder = load_image_encoder(get_settings().image_encoder)
    baseline = load_image_encoder(BASELINE)
    rng = np.random.default_rng(0)
    pngs = [synthetic_png(rng) for _ in range(N_IMAGES)]
    default_threads = torch.get_num_threads()
    # A small model gains little from intra-op threads; on a busy machine they cost a lot
    # (spinning workers), so both settings are reported.
    rates = {t: throughput(encoder, pngs, t) for t in sorted({default_threads, 1})}
    base_rates = {t: throughput(baseline, pngs, t) for t in sorted({default_threads, 1})}

    dicom = synthetic_dicom(DICOM_SIDE)
    tracemalloc.start()
    start = time.perf_counter()
    decoded = decode_image(dicom)
    encoder.encode(decoded)
    dicom_s = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_before, child_after = fresh_process_rss(dicom)
    print(
        json.dumps(
            {
                "encoder": encoder.id,
                "png_1024_decode_encode_images_per_s": {
                    f"torch_threads_{t}": round(r, 1) for t, r in rates.items()
                },
                "baseline": baseline.id,
                "baseline_images_per_s": {
                    f"torch_threads_{t}": round(r, 1) for t, r in base_rates.items()
                },
                "throughput_ratio_to_baseline": {
                    f"torch_threads_{t}": round(rates[t] / base_rates[t], 3) for t in rates
                },
                "dicom_3000x3000_16bit_file_mb": round(len(dicom) / 2**20, 1),
                "dicom_decode_encode_s": round(dicom_s, 3),
                "dicom_peak_traced_mb": round(peak / 2**20, 1),
                "dicom_decode_fresh_process_max_rss_growth_mb": round(
                    child_after - child_before, 1
                ),
                "bench_process_max_rss_mb": round(rss_after / 1024, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
