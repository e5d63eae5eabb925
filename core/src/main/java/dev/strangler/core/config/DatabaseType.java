package dev.strangler.core.config;

import java.util.Locale;

/** Database products Strangler can capture from and write to. */
public enum DatabaseType {
    POSTGRES("postgres"),
    /** a MariaDB monolith, captured from its binary log (Debezium's MariaDB connector); not yet a service */
    MARIADB("mariadb"),
    /** MySQL: not supported yet (Debezium's MySQL connector is not built in); refused with that reason */
    MYSQL("mysql");

    private final String configName;

    DatabaseType(String configName) {
        this.configName = configName;
    }

    public String configName() {
        return configName;
    }

    static DatabaseType fromConfigName(String name) {
        for (DatabaseType type : values()) {
            if (type.configName.equals(name.toLowerCase(Locale.ROOT))) {
                return type;
            }
        }
        return null;
    }
}
