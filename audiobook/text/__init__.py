"""The text toolkit every stage shares: sentences, titles, word lists, normalisation
and the pronunciation lexicon. It knows nothing of voices, engines or casting."""
