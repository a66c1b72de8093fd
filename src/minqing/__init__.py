"""Minqing (民情): grievance, petition and dispute resolution."""
