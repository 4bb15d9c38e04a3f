"""listhygiene: keep email lists clean and lawful, and say why contacts vanished."""

import warnings

__version__ = "0.1.0"

# pandera imports pyspark.pandas wherever PySpark is installed (the spark extra); its warning
# about pandas versions concerns no code of ours and would print on every command
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
