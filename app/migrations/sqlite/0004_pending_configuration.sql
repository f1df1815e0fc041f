-- A configuration recorded while running, applied at the next launch (JSON).
ALTER TABLE workstations ADD COLUMN pending_configuration TEXT;
