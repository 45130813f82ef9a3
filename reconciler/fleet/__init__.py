"""The fleet repo: defaults, label-selected groups and devices layered into effective specs.

Modules: `source` (reading files safely from a directory or a git tree), `documents`
(Fleet/Group models and loading a repo), `merge` (pure layering with provenance),
`render` (one device's effective spec), `validate` (the whole repo, for CI), `diff`
(blast radius between two revisions), `cli` (argument parsing and output only).
"""
