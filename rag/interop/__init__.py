"""Interoperability: the domain result as HL7 FHIR R4 resources and as a DICOM Structured Report.

Builders are pure functions of (ReportResult, StudyMeta); transport lives in the API/CLI.
"""
