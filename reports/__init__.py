"""Report sections built from a run's artefacts (pure: data in, figures and tables out)."""
