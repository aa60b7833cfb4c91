"""Vendor adapters that need an SDK or credentials: ``openai`` and ``oci``.

This folder installs as the package ``locus_providers`` (``locus_providers.openai``,
``locus_providers.oci``), a name no module of a user's project shadows; its modules import
one another relatively, so they work under that name. locus finds them through the
``locus.providers`` entry points and never imports them by name; each subpackage imports
its SDK only when it is itself imported.
"""
