"""Placeholder: being written."""
from telegram.ext import Application


def register(application: Application) -> None:
    return None
