"""Command-line front ends; ``scripts/`` and ``tuning/`` only call ``main()`` here."""
