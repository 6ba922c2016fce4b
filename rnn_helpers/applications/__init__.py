"""Chapter 06's applications, one module each, shared by the book and ``rnn-course applications``.

Each module trains its models with the settings in ``settings.py`` and returns plain results
(numbers, histories, samples), so the chapter and the report cannot drift apart.
"""
