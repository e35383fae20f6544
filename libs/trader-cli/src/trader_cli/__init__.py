"""The trader command-line tool."""
