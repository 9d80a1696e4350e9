"""Where the project lives and what it is called."""

from __future__ import annotations

from pathlib import Path

PROJECT = "progressive-delivery"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
PLATFORM_DIR = PROJECT_ROOT / "platform"
APP_NAME = "echo-version"
APP_SOURCE = PROJECT_ROOT / "applications" / APP_NAME
