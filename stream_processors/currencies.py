"""ISO-4217 currency codes an amount may be denominated in.

A snapshot of ISO 4217 List One (active codes, 2025), including codes still valid during
recent transitions (ANG/XCG, SLL/SLE, ZWL/ZWG) because historical events may carry them.
Deliberately excluded: fund codes (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI) and the X-codes
that are not money a customer pays in (metals XAU/XAG/XPD/XPT, bond-market units XBA-XBD,
XDR, XSU, XUA, testing XTS, "no currency" XXX). "Three uppercase letters" is the contract's
syntax rule; this list is the semantic one.
"""

from __future__ import annotations

_LIST_ONE = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD
    FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
    KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP
    MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR
    RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS
    TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF
    XPF YER ZAR ZMW ZWG ZWL
"""
ISO_4217_CODES: frozenset[str] = frozenset(_LIST_ONE.split())


def is_iso_4217(code: str) -> bool:
    return code in ISO_4217_CODES
