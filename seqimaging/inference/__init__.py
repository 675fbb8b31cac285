"""Applying trained models to users' data: whole-scene forecasts, classification of cines."""
