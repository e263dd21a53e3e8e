//! Sans-IO VRRP state machine (INIT/BACKUP/MASTER/FAULT) with sync groups.
