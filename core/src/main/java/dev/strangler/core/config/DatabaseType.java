package dev.strangler.core.config;

import java.util.Locale;

/** Database products Strangler can capture from and write to. */
public enum DatabaseType {
    POSTGRES("postgres"),
    /** MariaDB, captured from its binary log (Debezium's MariaDB connector) and written by the writer */
    MARIADB("mariadb"),
    /** MySQL 8, captured from its binary log with GTIDs (Debezium's MySQL connector) and written by the writer */
    MYSQL("mysql");

    private final String configName;

    DatabaseType(String configName) {
        this.configName = configName;
    }

    public String configName() {
        return configName;
    }

    /** MariaDB or MySQL: captured from a binary log; a database is what PostgreSQL calls a schema ({@code database.table}). */
    public boolean binlog() {
        return this != POSTGRES;
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
