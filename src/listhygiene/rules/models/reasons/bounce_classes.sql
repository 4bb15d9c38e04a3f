-- bounce_classes: the class (hard | soft | block | unknown), the reason and the rule of every
-- bounce in `new_bounces`, by the ordered rules of bounce_rules.toml (plus the pipeline's own),
-- installed by bounces.install_rules as the table `bounce_rules` and the macro
-- `bounce_rule_position`, which gives the position of the first rule whose every condition
-- matches. Receivers send 5xx codes for full mailboxes, spam blocks and policy rejections, so a
-- bounce is read from its enhanced code, reply code and text together, never by a 5xx alone.
-- Outputs every column of new_bounces plus the codes the rules saw (reply_smtp_code,
-- reply_enhanced_code); non-bounce events (deliveries, complaints) get no class.

with

bounces as (
    select * from new_bounces
),

replies as (
    -- logs repeat a few thousand distinct replies millions of times: each is classified once
    select distinct enhanced_code, smtp_code, bounce_type, diagnostic
    from bounces
    where event = 'bounce'
),

codes_in_text as (
    -- "smtp; 550-5.1.1 The email account…", "550 #5.1.0 Address rejected", and a relay quoting
    -- the receiver ("5.1.0 - Unknown address error 550-'5.7.1 … Access denied"): the enhanced
    -- code that follows a reply code is the receiver's own; else the first one in the text.
    -- A dotted number with a fourth part ("4.16.55.1") is a version, not a status code. A
    -- reply code is three digits after the start, punctuation, a word, a status code or another
    -- reply code, and before a word, a status code or IP address, an id or a short number
    -- ("554 30 Sorry"); digits of a longer number are not one ("555-0100", "+1 555 0100").
    select
        *,
        nullif(regexp_extract(diagnostic,
            '(?:^|[^\w.])[45]\d\d[ -][''"]?#?([245]\.\d{1,3}\.\d{1,3})(?:[^\d.]|\.\D|\.?$)', 1), '')
            as code_after_reply,
        nullif(regexp_extract(diagnostic,
            '(?:^|[^\w.])([245]\.\d{1,3}\.\d{1,3})(?:[^\d.]|\.\D|\.?$)', 1), '') as first_code,
        nullif(regexp_extract(diagnostic,
            '(?:^\s*|[^\w\s.+-]|[^\d\s+]\s+|[^\d\s+]-|\d\.\d{1,3}\s+|[45]\d\d[\s-]+)([45]\d\d)'
            || '(?:[\s-]\s*[^\d\s]|[\s-]\s*\d{1,3}\.\d|\s\d+[A-Za-z]|\s\d{1,2}\s+[^\d\s])', 1), '')::integer
            as reply_in_text
    from replies
),

reply_codes as (
    -- the codes the rules read: a column wins, except that a generic X.0.0 ("other undefined
    -- status", what many platforms fill in) gives way to a specific code in the text
    select
        enhanced_code, smtp_code, bounce_type, diagnostic,
        case
            when enhanced_code is not null and enhanced_code not like '_.0.0' then enhanced_code
            else coalesce(code_after_reply, first_code, enhanced_code)
        end as reply_enhanced_code,
        coalesce(smtp_code, reply_in_text) as reply_smtp_code
    from codes_in_text
),

matched as (
    select
        *,
        bounce_rule_position(reply_enhanced_code, reply_smtp_code::varchar, bounce_type,
            replace(diagnostic, '’', ''''))
            as position
    from reply_codes
),

classified as (
    -- a ruleset without a catch-all may leave a reply unmatched: unknown, which counts as soft
    select
        m.*,
        coalesce(r.class, 'unknown') as bounce_class,
        coalesce(r.reason, 'unclassified') as bounce_reason,
        r.rule_id as bounce_rule
    from matched m
    left join bounce_rules r using (position)
),

final as (
    select
        b.*,
        c.reply_smtp_code,
        c.reply_enhanced_code,
        c.bounce_class,
        c.bounce_reason,
        c.bounce_rule
    from bounces b
    left join classified c
        on b.event = 'bounce'
       and b.enhanced_code is not distinct from c.enhanced_code
       and b.smtp_code is not distinct from c.smtp_code
       and b.bounce_type is not distinct from c.bounce_type
       and b.diagnostic is not distinct from c.diagnostic
)

select * from final
