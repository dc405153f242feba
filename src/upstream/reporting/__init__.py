"""The reporting layer: what every study's sentences, plots and page tables share (``sentences``, ``plots``,
``display``: formatting, palette, readable tables; each study's own live in ``upstream.studies.<name>``),
privacy (``privacy``: escaping, redaction, pseudonyms), what a notebook displays (``notebook``) and the HTML
templates. It reads analysis results; nothing imports it but
studies, notebooks and the runner."""
