"""Tenants (one PostgreSQL schema each) and how a request finds its tenant."""
