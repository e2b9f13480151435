"""The IntraScol client: the only code that knows IntraScol's URLs and HTML."""
