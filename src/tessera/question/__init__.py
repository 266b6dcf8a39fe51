"""Questions an event asks its attendees, and the answers given to them (SPEC §10).

For the other flows that take answers (the public registration form, the dashboard's manual
add), :mod:`tessera.question.service` offers :func:`~tessera.question.service.questions_for_class`
and :func:`~tessera.question.service.validate_answers`.
"""
