"""Operational endpoints: health and readiness."""
