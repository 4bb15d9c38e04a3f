-- bounce_classes: the class of each newly loaded delivery outcome: hard | soft | block | unknown.
-- Read from the RFC 3463 enhanced code first, then the platform's bounce_type, then the SMTP
-- code — never by a 5xx alone: receivers send 5.2.2 for a full mailbox (soft) and 5.7.x for
-- spam and policy blocks, which are the sender's problem and never count against the address.
-- (A finer, rule-file based classifier replaces this table in a later version.)

with

bounces as (
    select * from new_bounces
),

classified as (
    select
        *,
        case
            when event <> 'bounce' then null
            -- address or domain does not exist, bad syntax, moved, null MX
            when enhanced_code in ('5.1.1', '5.1.2', '5.1.3', '5.1.6', '5.1.10') then 'hard'
            -- security and policy: blocklists, reputation, authentication, spam filters
            when enhanced_code like '_.7.%' then 'block'
            when enhanced_code like '4.%' then 'soft'
            -- mailbox full or disabled, message too big, receiving system trouble
            when enhanced_code like '5.2.%' or enhanced_code like '5.3.%' then 'soft'
            when bounce_type is not null then bounce_type
            when smtp_code between 400 and 499 then 'soft'
            else 'unknown'
        end as bounce_class,
        case
            when event <> 'bounce' then null
            when enhanced_code is not null
                 and (enhanced_code in ('5.1.1', '5.1.2', '5.1.3', '5.1.6', '5.1.10')
                      or enhanced_code like '_.7.%' or enhanced_code like '4.%'
                      or enhanced_code like '5.2.%' or enhanced_code like '5.3.%')
                then 'enhanced_code ' || enhanced_code
            when bounce_type is not null then 'bounce_type ' || bounce_type
            when smtp_code between 400 and 499 then 'smtp_code ' || smtp_code
            when event = 'bounce' then 'no usable code'
        end as bounce_rule
    from bounces
),

final as (
    select * exclude (bounce_class, bounce_rule), bounce_class, null::varchar as bounce_reason, bounce_rule
    from classified
)

select * from final
