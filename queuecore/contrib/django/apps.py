from django.apps import AppConfig


class QueuecoreConfig(AppConfig):
    name = "queuecore.contrib.django"
    label = "queuecore"
    verbose_name = "queuecore"
