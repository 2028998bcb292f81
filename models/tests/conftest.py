import os
import sys

# The tests import the reference package from models/.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
