package dev.strangler.connectors.internal;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class TypeWideningTest {

    @Test
    void widerTypesKeepEveryValueNarrowerOrOtherTypesDoNot() {
        assertThat(TypeWidening.widens("character varying(5)", "character varying(20)")).isTrue();
        assertThat(TypeWidening.widens("character varying(5)", "text")).isTrue();
        assertThat(TypeWidening.widens("character varying(5)", "character varying")).isTrue();
        assertThat(TypeWidening.widens("character varying(20)", "character varying(5)")).isFalse();
        assertThat(TypeWidening.widens("integer", "bigint")).isTrue();
        assertThat(TypeWidening.widens("bigint", "integer")).isFalse();
        assertThat(TypeWidening.widens("numeric(8,2)", "numeric(12,2)")).isTrue();
        assertThat(TypeWidening.widens("numeric(8,2)", "numeric(9,3)")).isTrue();
        assertThat(TypeWidening.widens("numeric(8,2)", "numeric(8,3)")).isFalse();
        assertThat(TypeWidening.widens("numeric(8,2)", "numeric")).isTrue();
        assertThat(TypeWidening.widens("real", "double precision")).isTrue();
        assertThat(TypeWidening.widens("text", "character varying(10)")).isFalse();
        assertThat(TypeWidening.widens("integer", "text")).isFalse();
        assertThat(TypeWidening.widens("timestamp without time zone", "timestamp with time zone")).isFalse();
    }
}
