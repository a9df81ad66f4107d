"""Training, calibration and evaluation of the embedded chest X-ray encoder."""
