"""Emotional speech data: the generated espeak-ng corpus, loaders for ESD/RAVDESS/IEMOCAP, prosody.

Importing this package imports numpy only.
"""
