"""The outside world: the IntraScol client, the workbook, the journal, private files, the reports."""
