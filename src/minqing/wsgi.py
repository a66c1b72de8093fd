import os

from django.core.wsgi import get_wsgi_application

from minqing.core.memory import retain_freed_memory

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minqing.settings")
retain_freed_memory()  # requests with photos reuse the pages earlier ones freed (minqing.core.memory)
application = get_wsgi_application()
