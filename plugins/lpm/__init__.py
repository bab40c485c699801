"""Lokalny Program Mikrograntów: local micro-grants run by an operator with the municipality."""
