--
-- PostgreSQL database dump
--
CREATE TABLE public.customers (
    id integer NOT NULL,
    first_name text,
    last_name text,
    email text,
    ssn text,
    street text
);

COPY public.customers (id, first_name, last_name, email, ssn, street) FROM stdin;
1	Margarethe	Oyelaran	m.oyelaran@posteo.de	536-22-8714	Lindenstraße 14
2	Tobias	Kristiansen	tobias.k@fastmail.com	412-68-2290	27 Wellington Rd
3	Aiko	Van der Berg	aiko@vdberg.nl	\N	\N
\.

INSERT INTO public.customers (id, first_name, last_name, email, ssn, street) VALUES (4, 'Lucía', 'Ferreira', 'lucia.f@gmx.net', '219-09-9999', 'Calle Mayor 5');
INSERT INTO `customers` (`id`, `first_name`, `last_name`) VALUES (5,'Grzegorz','Wiśniewski'),(6,'Ingrid','Solberg');
