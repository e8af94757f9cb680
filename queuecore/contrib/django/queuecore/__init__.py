"""The module Django knows the app by: its commands and the ``tasks`` handlers it gives runworker.

It exists for its name. ``manage.py help`` groups commands under the last component of the app's
module name, so commands living in ``queuecore.contrib.django`` were listed under "[django]"; here
they are listed under "[queuecore]". ``INSTALLED_APPS`` still names ``queuecore.contrib.django``,
whose ``apps.QueuecoreConfig`` points Django at this module.
"""
