"""Duty rules: who is responsible for what, at which layer, on which legal basis.

A rule links a topic (an activity, place, industry or matter, with aliases and keywords) to one
duty-holder (``party``) at one ``layer`` (企业主体责任, 从业人员/岗位, 部门监管责任, 属地管理责任,
党政领导责任), states the duty in one sentence and cites one or more articles (``basis``) that
exist in the knowledge base, each with an ``evidence`` phrase quoted from the article. Rules from
local regulations carry their ``jurisdiction``; where a statute still uses a pre-2018 department
name the rule names today's body and keeps the statute's wording in ``law_wording``.

Modules: ``schema`` (validation), ``loader`` (YAML/CSV/XLSX, all-or-nothing checks against the
knowledge base), ``repository`` (upsert with history, audit), ``service`` (load a file, keep the
shipped rules in ``rules/*.yaml`` current), ``router`` (is this a who-question?), ``matcher``
(question → topics), ``answer`` (the layered duty chain), ``suggest`` (candidates from a document),
``template`` (example XLSX).
"""
