"""Where dumps come from (the dated inbox; HTTP feeds) and where their bytes are kept."""
