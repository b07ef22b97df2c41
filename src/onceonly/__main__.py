from onceonly.cli import entry

entry()
