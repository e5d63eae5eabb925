package dev.strangler.sandbox;

import org.postgresql.PGConnection;

import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a PostgreSQL dump-style script (as {@code pg_dump} writes it: statements, functions with
 * dollar-quoted bodies, {@code COPY ... FROM stdin} blocks ended by {@code \.}) through JDBC, for
 * loading real datasets into the sandbox without {@code psql}.
 */
public final class SqlScript {

    private SqlScript() {
    }

    /** Runs every statement of the file, autocommit; stops at the first failure, naming the statement. */
    public static void run(Connection connection, Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        try {
            connection.setAutoCommit(true);
            for (Piece piece : split(text)) {
                if (piece.copyData() != null) {
                    ((PGConnection) connection.unwrap(PGConnection.class)).getCopyAPI()
                            .copyIn(piece.sql(), new StringReader(piece.copyData()));
                } else {
                    try (Statement s = connection.createStatement()) {
                        s.execute(piece.sql());
                    }
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException(file.getFileName() + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One statement; for a COPY from stdin, also the data lines that follow it. */
    record Piece(String sql, String copyData) {
    }

    /** Splits a script at semicolons outside quotes, dollar quotes and comments. */
    static List<Piece> split(String text) {
        List<Piece> pieces = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        int i = 0;
        int n = text.length();
        while (i < n) {
            char c = text.charAt(i);
            if (c == '-' && i + 1 < n && text.charAt(i + 1) == '-') {
                int end = text.indexOf('\n', i);
                i = end < 0 ? n : end + 1;
                current.append('\n');
            } else if (c == '\'') {
                int end = i + 1;
                while (end < n && !(text.charAt(end) == '\'' && (end + 1 >= n || text.charAt(end + 1) != '\''))) {
                    end += text.charAt(end) == '\'' ? 2 : 1;
                }
                current.append(text, i, Math.min(n, end + 1));
                i = end + 1;
            } else if (c == '$' && dollarTag(text, i) != null) {
                String tag = dollarTag(text, i);
                int end = text.indexOf(tag, i + tag.length());
                end = end < 0 ? n : end + tag.length();
                current.append(text, i, end);
                i = end;
            } else if (c == ';') {
                String sql = current.toString().trim();
                current.setLength(0);
                i++;
                if (sql.isEmpty()) {
                    continue;
                }
                if (sql.matches("(?is)^COPY\\s.*\\sFROM\\s+stdin$")) {
                    int dataStart = text.indexOf('\n', i) + 1;
                    int dataEnd = text.indexOf("\n\\.", dataStart - 1);
                    String data = dataEnd < dataStart ? "" : text.substring(dataStart, dataEnd + 1);
                    pieces.add(new Piece(sql, data));
                    i = text.indexOf('\n', dataEnd + 1);
                    i = i < 0 ? n : i + 1;
                } else {
                    pieces.add(new Piece(sql, null));
                }
            } else {
                current.append(c);
                i++;
            }
        }
        if (!current.toString().isBlank()) {
            pieces.add(new Piece(current.toString().trim(), null));
        }
        return pieces;
    }

    /** The dollar-quote tag starting at {@code i} ({@code $$} or {@code $name$}), or null. */
    private static String dollarTag(String text, int i) {
        int j = i + 1;
        while (j < text.length() && (Character.isLetterOrDigit(text.charAt(j)) || text.charAt(j) == '_')) {
            j++;
        }
        if (j < text.length() && text.charAt(j) == '$' && (j == i + 1 || !Character.isDigit(text.charAt(i + 1)))) {
            return text.substring(i, j + 1);
        }
        return null;
    }
}
