"""Plots for study notebooks: each study's figures live in its package (``upstream.studies.<name>.plots``);
the palette and the axes helpers they share are ``common``. Each function returns a matplotlib Figure whose
title states the takeaway; figures are built without pyplot so a study can make them all at once."""
