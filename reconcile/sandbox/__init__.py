"""The sandbox: an IntraScol-compatible web server for tests, demos and rehearsals."""
