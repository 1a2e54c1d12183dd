"""Placeholder program: reads and validates the settings; the project's issue fills it in."""

from etl_platform.catalog import load_catalog
from etl_platform.settings import load_settings

catalog = load_catalog()
settings = load_settings(catalog.names)
