"""Documents shipped with the product (package data); see MANIFEST.tsv."""
