DROP FUNCTION users_display_name(users);
