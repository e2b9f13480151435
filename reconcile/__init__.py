"""reconcile: la rentrée des comptes d'un serveur IntraScol, sans cocher de cases."""

__version__ = "0.1.0"
