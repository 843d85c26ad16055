"""Committee reports: the monthly report and its audit section."""
