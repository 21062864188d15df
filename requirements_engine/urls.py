"""URL namespace ``requirements``: requirement pages (engine) and balance pages (compliance)."""
from requirements_engine.urls_balance import urlpatterns as balance_patterns
from requirements_engine.urls_requirements import urlpatterns as requirement_patterns

app_name = "requirements"
urlpatterns = [*requirement_patterns, *balance_patterns]
