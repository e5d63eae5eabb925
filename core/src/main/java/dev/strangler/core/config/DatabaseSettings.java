package dev.strangler.core.config;

/** How to reach one database: the monolith or a service's. */
public record DatabaseSettings(DatabaseType type, String url, String user, Secret password) {

    @Override
    public String toString() {
        return type.configName() + " " + url + " as " + user;
    }
}
