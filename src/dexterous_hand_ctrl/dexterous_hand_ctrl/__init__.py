"""Dexterous hand control for the G1's Dex3 hands."""
