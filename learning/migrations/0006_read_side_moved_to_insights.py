
from django.db import migrations


class Migration(migrations.Migration):

    # The read side moved to the insights app (see insights 0001): Django forgets these
    # models here; their tables and rows stay, now insights'.
    dependencies = [
        ("learning", "0005_user_time_zone"),
        ("insights", "0001_initial"),
    ]

    state_operations = [
        migrations.DeleteModel(
            name='Alert',
        ),
        migrations.DeleteModel(
            name='AlertSettings',
        ),
        migrations.DeleteModel(
            name='AnalyticsSettings',
        ),
        migrations.RemoveField(
            model_name='dailyfeedbackrollup',
            name='rep',
        ),
        migrations.RemoveField(
            model_name='dailyoutcomerollup',
            name='rep',
        ),
        migrations.RemoveField(
            model_name='reportdelivery',
            name='user',
        ),
        migrations.DeleteModel(
            name='RollupState',
        ),
        migrations.DeleteModel(
            name='DailyFeedbackRollup',
        ),
        migrations.DeleteModel(
            name='DailyOutcomeRollup',
        ),
        migrations.DeleteModel(
            name='ReportDelivery',
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
