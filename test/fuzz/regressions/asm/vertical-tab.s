.target kv260

.entry main
{ ctrl.halt }
