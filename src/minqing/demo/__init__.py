"""Demo data: accounts for every role (and, later, a year of synthetic cases). Everything here is synthetic."""
