"""Parsers of machine-learning sources: tracking stores and prediction logs."""
