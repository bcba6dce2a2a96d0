"""Calibration from CRM and HR exports: data audit, estimators, synthetic data."""
